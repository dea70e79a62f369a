"""console.routing"""
