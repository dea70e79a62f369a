"""console.credentials"""
